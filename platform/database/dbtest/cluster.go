package dbtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopmonolith/shop/platform/topology"
)

// PasswordServer starts a throw-away PostgreSQL cluster that checks the
// password of every connection (scram-sha-256, loopback included), unlike
// the shared test server, which trusts loopback: what a test of who can log
// in as whom needs. It returns the owner URL (the superuser, with its
// password) of an empty database "shop"; the cluster is stopped and removed
// when the test ends.
//
// The cluster runs from the PostgreSQL installation's own binaries
// (pg_config --bindir, or /usr/lib/postgresql/*/bin). PostgreSQL refuses to
// run as root, so a root test runs them as the postgres OS user.
func PasswordServer(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := postgresBin(ctx)
	if err != nil {
		t.Fatalf("password-checking PostgreSQL: %v", err)
	}
	dir, as, err := clusterDir()
	if err != nil {
		t.Fatalf("password-checking PostgreSQL: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	password := rand.Text()
	pwfile := filepath.Join(dir, "pwfile")
	if err := writeOwned(pwfile, password+"\n", as); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if out, err := run(ctx, as, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--pwfile", pwfile,
		"--auth", "scram-sha-256", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=60", port, dir)
	if out, err := run(ctx, as, filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if out, err := run(ctx, as, filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop").CombinedOutput(); err != nil {
			t.Errorf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	server := &url.URL{Scheme: "postgres", User: url.UserPassword("postgres", password), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path: "/postgres", RawQuery: "sslmode=disable"}
	conn, err := pgx.Connect(ctx, server.String())
	if err != nil {
		t.Fatalf("connect to the password-checking PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE shop"); err != nil {
		t.Fatal(err)
	}
	server.Path = "/shop"
	return server.String()
}

// postgresBin finds the directory of initdb and pg_ctl.
func postgresBin(ctx context.Context) (string, error) {
	if out, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", errors.New("no initdb: neither pg_config --bindir nor /usr/lib/postgresql/*/bin has one (install postgresql)")
	}
	slices.SortFunc(found, func(a, b string) int { return majorOf(b) - majorOf(a) })
	return filepath.Dir(found[0]), nil
}

// majorOf reads the major version out of /usr/lib/postgresql/<major>/bin/initdb.
func majorOf(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

// clusterDir makes the cluster's folder, owned by the user the server runs
// as: the current one, or postgres when that is root (as returned).
func clusterDir() (string, *user.User, error) {
	dir, err := os.MkdirTemp("", "shop-pg-")
	if err != nil {
		return "", nil, err
	}
	if os.Geteuid() != 0 {
		return dir, nil, nil
	}
	as, err := user.Lookup("postgres")
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("PostgreSQL does not run as root, and there is no postgres user to run it as: %w", err)
	}
	if err := chown(dir, as); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, as, nil
}

func chown(path string, as *user.User) error {
	uid, err := strconv.Atoi(as.Uid)
	if err != nil {
		return err
	}
	gid, err := strconv.Atoi(as.Gid)
	if err != nil {
		return err
	}
	return os.Chown(path, uid, gid)
}

func writeOwned(path, content string, as *user.User) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return err
	}
	if as == nil {
		return nil
	}
	return chown(path, as)
}

// run runs a PostgreSQL program, as the user as when there is one, in
// the root folder (which every user may enter, unlike the test's).
func run(ctx context.Context, as *user.User, program string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, program, args...)
	if as != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", as.Username, "--", program}, args...)...)
	}
	cmd.Dir = "/"
	return cmd
}

// freePort returns a loopback port nothing listens on now, below the
// ephemeral range (the server binds it only once started).
func freePort() (int, error) {
	ports, err := topology.FreePortRuns(1, 1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}
