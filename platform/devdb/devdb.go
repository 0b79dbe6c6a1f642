// Package devdb finds a PostgreSQL for the shop when none is configured, so
// that `make run` works on a fresh machine: DATABASE_URL when set; otherwise
// the server on 127.0.0.1:5432 (creating the `shop` database if missing);
// otherwise, for a non-root user, an embedded PostgreSQL on its own port with
// its data in a local folder; otherwise an error that says how to fix it.
package devdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	embeddedpostgres "github.com/fergusstrange/embedded-postgres"
	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/platform/config"
)

// DatabaseName is the database created on a local server.
const DatabaseName = "shop"

// Located is a usable database.
type Located struct {
	URL    string
	Source string       // "DATABASE_URL", "local", or "embedded"
	Stop   func() error // stops an embedded server; nil otherwise
}

// ErrNoDatabase means no PostgreSQL could be found or started.
var ErrNoDatabase = errors.New("no PostgreSQL available")

// Locate returns the database the shop should use.
func Locate(ctx context.Context, cfg config.DB, log *slog.Logger) (Located, error) {
	if cfg.URL != "" {
		return Located{URL: cfg.URL, Source: "DATABASE_URL"}, nil
	}
	var tried []error
	for _, name := range localUsers() {
		server := (&url.URL{Scheme: "postgres", User: url.User(name), Host: "127.0.0.1:5432", Path: "/postgres", RawQuery: "sslmode=disable"}).String()
		u, err := ensureDatabase(ctx, server, cfg.ConnectTimeout)
		if err == nil {
			log.Info("using local PostgreSQL", slog.String("database", DatabaseName), slog.String("user", name))
			return Located{URL: u, Source: "local"}, nil
		}
		tried = append(tried, fmt.Errorf("127.0.0.1:5432 as %s: %w", name, err))
	}
	if os.Geteuid() != 0 {
		l, err := startEmbedded(ctx, cfg, log)
		if err == nil {
			return l, nil
		}
		tried = append(tried, fmt.Errorf("embedded PostgreSQL: %w", err))
	} else {
		tried = append(tried, errors.New("embedded PostgreSQL: PostgreSQL refuses to run as root"))
	}
	return Located{}, fmt.Errorf("%w (%w)\n  fix: set DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/shop (a user that may create roles),\n  or start PostgreSQL on 127.0.0.1:5432 with trust or password-less access,\n  or run as a non-root user so an embedded PostgreSQL can start", ErrNoDatabase, errors.Join(tried...))
}

func localUsers() []string {
	names := []string{"postgres"}
	if u, err := user.Current(); err == nil && u.Username != "postgres" {
		names = append(names, u.Username)
	}
	return names
}

// ensureDatabase connects to a server's maintenance database and creates the
// shop database when missing; it returns the shop database's URL.
func ensureDatabase(ctx context.Context, server string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", DatabaseName).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{DatabaseName}.Sanitize()); err != nil {
			var again bool
			// Another replica may have created it a moment ago.
			if qerr := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", DatabaseName).Scan(&again); qerr != nil || !again {
				return "", fmt.Errorf("create database %s: %w", DatabaseName, err)
			}
		}
	}
	u, _ := url.Parse(server)
	u.Path = "/" + DatabaseName
	return u.String(), nil
}

func startEmbedded(ctx context.Context, cfg config.DB, log *slog.Logger) (Located, error) {
	dir, err := filepath.Abs(cfg.EmbeddedDir)
	if err != nil {
		return Located{}, err
	}
	port := strconv.FormatUint(uint64(cfg.EmbeddedPort), 10)
	server := fmt.Sprintf("postgres://postgres:postgres@127.0.0.1:%s/postgres?sslmode=disable", port)
	// A server left running by an earlier start is reused.
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		_ = c.Close()
		u, err := ensureDatabase(ctx, server, cfg.ConnectTimeout)
		if err != nil {
			return Located{}, err
		}
		return Located{URL: u, Source: "embedded"}, nil
	}
	log.Info("starting embedded PostgreSQL", slog.String("data", dir), slog.String("port", port))
	pg := embeddedpostgres.NewDatabase(embeddedpostgres.DefaultConfig().
		Port(cfg.EmbeddedPort).
		DataPath(filepath.Join(dir, "data")).
		RuntimePath(filepath.Join(dir, "runtime")).
		BinariesPath(filepath.Join(dir, "bin")).
		Username("postgres").Password("postgres").Database("postgres").
		StartTimeout(60 * time.Second).
		Logger(nil))
	if err := pg.Start(); err != nil {
		return Located{}, err
	}
	u, err := ensureDatabase(ctx, server, cfg.ConnectTimeout)
	if err != nil {
		_ = pg.Stop()
		return Located{}, err
	}
	return Located{URL: u, Source: "embedded", Stop: pg.Stop}, nil
}
