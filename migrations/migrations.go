// Package migrations embeds the SQL migrations of every module, one folder per
// module (migrations/<module>/NNNN_name.up.sql and .down.sql), applied with
// golang-migrate inside the module's own schema.
package migrations

import "embed"

// FS holds one folder per module.
//
//go:embed */*.sql
var FS embed.FS
