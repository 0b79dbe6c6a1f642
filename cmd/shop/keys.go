package main

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"strings"

	"github.com/shopmonolith/shop/platform/config"
)

// runKeys prints a fresh set of call keys, one Ed25519 key pair per module,
// as the settings that carry them: the public keys of all for every
// process, and each module's private key for the processes hosting it only.
func runKeys(args []string, stdout io.Writer) error {
	c := newCommand("keys", "shop keys",
		"Prints a new set of keys for calls between modules, as environment settings: SHOP_CALL_PUBLIC_KEYS\n(every module's public key) goes to every process; each SHOP_CALL_KEY_<MODULE> goes only to the\nprocesses that host that module, which can then sign as it and as no other; SHOP_CALL_KEY_EDGE goes\nto every process (each forwards requests and checks sessions as the edge). Keep the output secret.")
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.flags.NArg() > 0 {
		return usageError{fmt.Sprintf("keys takes no arguments, got %q", c.flags.Args())}
	}
	names, err := moduleNames()
	if err != nil {
		return err
	}
	public := config.PublicKeys{}
	var private []string
	// Every process also signs as the edge (it forwards requests and asks
	// identity about sessions), so each gets the edge's key too.
	var edge string
	for _, m := range append(names, config.EdgeKey) {
		pub, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			return fmt.Errorf("generate the call key of %s: %w", m, err)
		}
		public[m] = pub
		setting := config.CallKeyName(m) + "=" + config.EncodePrivateKey(priv)
		if m == config.EdgeKey {
			edge = setting
			continue
		}
		private = append(private, setting)
	}
	_, err = fmt.Fprintf(stdout, "# every process:\nSHOP_CALL_PUBLIC_KEYS=%s\n%s\n# each only to the processes hosting its module:\n%s\n",
		public, edge, strings.Join(private, "\n"))
	return err
}
