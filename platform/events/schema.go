package events

import (
	"context"
	"embed"
	"io/fs"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/migrate"
)

//go:embed schema/*.sql
var schemaFS embed.FS

// SchemaTable is the version table of the event tables in each module schema.
const SchemaTable = "events_schema_migrations"

// Schema returns the migrations of the event tables, which Migrate applies
// to every module's schema.
func Schema() fs.FS {
	src, _ := fs.Sub(schemaFS, "schema") // the folder is embedded above
	return src
}

// Migrate creates or upgrades the event tables in a module's schema.
func Migrate(ctx context.Context, db *database.DB) error {
	return migrate.UpTable(ctx, db, Schema(), SchemaTable)
}
