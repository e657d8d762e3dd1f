package store

import (
	"context"
	"fmt"

	"github.com/shuixiao/shuixiao/contract"
)

// Contracts keeps contract-water-saving projects and their M&V statements
// (package contract).
type Contracts interface {
	// CreateContract stores a contract (CheckContract against the stored
	// contracts of its enterprise, in the same transaction): ErrInvalid,
	// ErrNotFound for an unknown enterprise, ErrExists for a taken ID,
	// ErrConflict wrapping contract.ErrOverlap with the reason.
	CreateContract(ctx context.Context, c contract.Contract) error
	// Contract returns a contract (ErrNotFound).
	Contract(ctx context.Context, id string) (contract.Contract, error)
	// Contracts lists the contracts of the given enterprises (nil: all),
	// sorted by ID.
	Contracts(ctx context.Context, enterprises []string) ([]contract.Contract, error)
	// AddDeclared appends declared driver values to a contract, all or
	// nothing (contract.CheckDeclared over the stored and the new values:
	// ErrInvalid), and returns the contract.
	AddDeclared(ctx context.Context, id string, vals []contract.DeclaredValue) (contract.Contract, error)
	// AddStatement stores a statement record (CheckRecord): ErrNotFound for
	// an unknown contract, ErrExists when the contract has a statement for
	// that reporting period already (naming it).
	AddStatement(ctx context.Context, r contract.Record) error
	// StatementRecord returns a statement record by statement ID (ErrNotFound).
	StatementRecord(ctx context.Context, id string) (contract.Record, error)
	// StatementRecords lists a contract's statement records by period.
	StatementRecords(ctx context.Context, contractID string) ([]contract.Record, error)
}

// CheckContract is the rule both drivers apply before storing a contract:
// it validates, and refuses one that overlaps a stored contract of its
// enterprise (contract.Overlap; ErrConflict).
func CheckContract(c contract.Contract, stored []contract.Contract) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("%w: contract: %v", ErrInvalid, err)
	}
	for _, o := range stored {
		if err := contract.Overlap(c, o); err != nil {
			return fmt.Errorf("%w: %w", ErrConflict, err)
		}
	}
	return nil
}

// CheckRecord checks a statement record before it is stored: its seal.
func CheckRecord(r contract.Record) error {
	if r.Statement.Contract == "" || r.Statement.Enterprise == "" {
		return fmt.Errorf("%w: statement: no contract or enterprise", ErrInvalid)
	}
	if err := r.Statement.CheckSeal(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}
