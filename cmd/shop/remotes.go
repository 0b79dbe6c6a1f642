package main

import (
	"fmt"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/config"
)

// remotes holds the remote adapter of each module API this process calls,
// for the modules it reaches elsewhere; a module it hosts has none here.
type remotes struct {
	identity  identity.API // the edge's authenticator
	catalog   catalog.API
	inventory inventory.API
	cart      cart.API
	payments  payments.API
}

// remoteAPIs builds the remote adapter of every module of SHOP_MODULE_URLS.
// This build has no remote adapters: a module addressed there is refused,
// by name, before any module is built.
func remoteAPIs(_ config.Config, p placement) (remotes, error) {
	if addressed := p.remote(); len(addressed) > 0 {
		m := addressed[0]
		return remotes{}, fmt.Errorf("SHOP_MODULE_URLS: module %s is addressed at %s, but remote calls are not available in this build: host %s in this process (SHOP_MODULES)",
			m, p.urls[m], m)
	}
	return remotes{}, nil
}
