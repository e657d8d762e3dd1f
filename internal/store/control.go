package store

import (
	"context"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/plant"
)

// Controls keeps what the control loops of cooling towers and reuse trains
// need to survive a restart and to be audited: each plant's configuration,
// the log of every command with its cause and outcome, and the operators'
// manual overrides and lock-outs.
type Controls interface {
	// SavePlant creates or replaces a plant configuration.
	SavePlant(ctx context.Context, p plant.Record) error
	// Plant returns one plant configuration (ErrNotFound if none).
	Plant(ctx context.Context, id string) (plant.Record, error)
	// Plants lists plant configurations, sorted by ID; enterprise "" lists all.
	Plants(ctx context.Context, enterprise string) ([]plant.Record, error)

	// SaveCommands creates command records or replaces the records with the
	// same IDs (when their outcome is known), all in one transaction.
	SaveCommands(ctx context.Context, cs []command.Record) error
	// Command returns one command record (ErrNotFound if none).
	Command(ctx context.Context, id string) (command.Record, error)
	// Commands lists command records matching q, newest first.
	Commands(ctx context.Context, q command.Query) ([]command.Record, error)

	// SetOverride records an actuator's operating mode (auto removes the override).
	SetOverride(ctx context.Context, o command.Override) error
	// Overrides lists the manual overrides and lock-outs in force for a plant
	// ("" for every plant).
	Overrides(ctx context.Context, plant string) ([]command.Override, error)
}
