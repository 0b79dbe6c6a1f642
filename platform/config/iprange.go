package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// IPRange is a network in CIDR notation (10.0.0.0/8) or a single address
// (10.1.2.3, a /32 or /128), as operators write the addresses of their load
// balancers.
type IPRange struct{ netip.Prefix }

// UnmarshalText parses a CIDR or a single IP; the host bits of a CIDR must
// be zero (10.0.0.1/8 is more likely a typo than a network).
func (r *IPRange) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return fmt.Errorf("%q is neither an IP address nor a CIDR like 10.0.0.0/8", s)
		}
		r.Prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		return nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return fmt.Errorf("%q is neither an IP address nor a CIDR like 10.0.0.0/8", s)
	}
	if p != p.Masked() {
		return fmt.Errorf("%q has host bits set; the network is %s", s, p.Masked())
	}
	r.Prefix = p
	return nil
}

// Contains reports whether a is in the range; an IPv4 address written as
// IPv6 (::ffff:10.1.2.3) counts as the IPv4 one.
func (r IPRange) Contains(a netip.Addr) bool { return r.Prefix.Contains(a.Unmap()) }
