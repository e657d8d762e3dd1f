//go:build tools

// Package deps pins the modules the platform is built on before every
// package that uses them exists. It is never compiled into the binary.
package deps

import (
	_ "github.com/eclipse/paho.golang/paho"
	_ "github.com/eclipse/paho.mqtt.golang"
	_ "github.com/mochi-mqtt/server/v2"
	_ "github.com/transparency-dev/formats/log"
	_ "github.com/transparency-dev/merkle/proof"
	_ "github.com/transparency-dev/tessera"
	_ "github.com/transparency-dev/tessera/storage/posix"
	_ "github.com/transparency-dev/witness/witness"
	_ "github.com/transparency-dev/witness/persistence/sqlite"
	_ "github.com/transparency-dev/tessera/client"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite"
)
