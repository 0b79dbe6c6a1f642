package httpapi

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/config"
)

// clientIP returns echo's extractor of the client address, on which the
// per-IP login and sign-up limits count. X-Forwarded-For is believed only
// from the configured proxies, and only up to the rightmost address that is
// not one of them: anyone else can write anything there. Echo would trust
// loopback, link-local and private peers by default; nothing is trusted
// that the operator did not name.
//
// A request with X-Forwarded-For from a peer outside those ranges is logged
// once per server: it is what a load balancer missing from the setting
// looks like, and then every client shares its address.
func clientIP(trusted []config.IPRange, log *slog.Logger) echo.IPExtractor {
	extract := echo.ExtractIPDirect()
	if len(trusted) > 0 {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, r := range trusted {
			p := r.Masked()
			opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
		}
		extract = echo.ExtractIPFromXFFHeader(opts...)
	}
	var warn sync.Once
	return func(r *http.Request) string {
		if len(r.Header.Values(echo.HeaderXForwardedFor)) > 0 && !fromProxy(r, trusted) {
			warn.Do(func() {
				log.WarnContext(r.Context(), "X-Forwarded-For ignored: the peer is not in SHOP_HTTP_TRUSTED_PROXIES; "+
					"if it is a load balancer, every client it forwards shares its address for the per-IP limits",
					slog.String("peer", r.RemoteAddr))
			})
		}
		return extract(r)
	}
}

// fromProxy reports whether the request's peer is a trusted proxy.
func fromProxy(r *http.Request, trusted []config.IPRange) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	for _, t := range trusted {
		if t.Contains(ap.Addr()) {
			return true
		}
	}
	return false
}
