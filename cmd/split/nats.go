package main

import (
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsServer is an embedded NATS server with JetStream, on a free loopback
// port, its streams in a temporary folder removed when it stops.
type natsServer struct {
	url string
	srv *server.Server
	dir string
}

func startNATS() (*natsServer, error) {
	dir, err := os.MkdirTemp("", "shop-split-nats-")
	if err != nil {
		return nil, err
	}
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: dir, NoLog: true, NoSigs: true, ServerName: "shop-split"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("embedded NATS: not accepting connections within 10s")
	}
	return &natsServer{url: srv.ClientURL(), srv: srv, dir: dir}, nil
}

func (n *natsServer) stop() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	os.RemoveAll(n.dir)
}
