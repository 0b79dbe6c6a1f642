package database

import (
	"fmt"
	"io"
)

// The fixed parts of a process's connection budget.
const (
	OwnerConns     = 2 // the owner pool: provisioning and operator commands
	ListenConns    = 1 // the event bus's LISTEN connection
	MinModuleConns = 2 // a module's transaction plus one more query
)

// Budget is how a process spends its connection budget (SHOP_DB_MAX_CONNS):
// the owner pool and the LISTEN connection first, the rest split evenly
// across the modules it hosts, the last modules taking the remainder: modules
// come in dependency order, and the downstream ones (orders, notifications,
// reporting) are those that run event handlers, each of which holds a
// connection for its whole transaction. Each
// module's share is the most its pool (and the database/sql pool over it)
// ever holds, so the process never holds more than Total and one module
// cannot starve the others (a bulkhead).
type Budget struct {
	Total  int32
	Shares []Share
}

// Share is one module's part of the budget.
type Share struct {
	Module string
	Conns  int32
}

// Split divides total across modules, or says why it cannot.
func Split(total int32, modules []string) (Budget, error) {
	n := int32(len(modules))
	if n == 0 {
		return Budget{Total: total}, nil
	}
	rest := total - OwnerConns - ListenConns
	if rest < n*MinModuleConns {
		return Budget{}, fmt.Errorf("SHOP_DB_MAX_CONNS: %d connections cannot serve %d modules: at least %d needed (%d for the owner, %d for LISTEN, %d per module)",
			total, n, OwnerConns+ListenConns+n*MinModuleConns, OwnerConns, ListenConns, MinModuleConns)
	}
	b := Budget{Total: total, Shares: make([]Share, n)}
	for i, m := range modules {
		b.Shares[i] = Share{Module: m, Conns: rest / n}
		if int32(i) >= n-rest%n {
			b.Shares[i].Conns++
		}
	}
	return b, nil
}

// Of returns a module's share.
func (b Budget) Of(module string) (int32, bool) {
	for _, s := range b.Shares {
		if s.Module == module {
			return s.Conns, true
		}
	}
	return 0, false
}

// Conns returns a module's share, or an error naming the modules the
// budget was split for.
func (b Budget) Conns(module string) (int32, error) {
	if n, ok := b.Of(module); ok {
		return n, nil
	}
	return 0, fmt.Errorf("module %s has no share of the connection budget (opened for %d modules)", module, len(b.Shares))
}

// Print writes the split, one line per part, as comments of shop config.
func (b Budget) Print(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "# SHOP_DB_MAX_CONNS=%d is spent as: owner %d, LISTEN %d", b.Total, OwnerConns, ListenConns); err != nil {
		return err
	}
	for _, s := range b.Shares {
		if _, err := fmt.Fprintf(w, ", %s %d", s.Module, s.Conns); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}
