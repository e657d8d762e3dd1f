// Package sparse solves sparse symmetric positive definite linear systems
// A·x = b by Cholesky factorisation A = L·Lᵀ, split into the two phases that
// network solvers need to keep apart:
//
//   - Analyze (once per matrix structure): a fill-reducing minimum degree
//     ordering (Rose's elimination-graph model, Tinney–Walker scheme 2,
//     ties broken by lowest index) followed by a symbolic factorisation
//     that fixes where every non-zero of L lives.
//   - Cholesky.Factorize and Cholesky.Solve (once per set of values): the
//     numerical left-looking column factorisation of George & Liu,
//     "Computer Solution of Large Sparse Positive Definite Systems"
//     (Prentice-Hall, 1981), §5 (subroutines GSFCT/GSSLV), followed by a
//     forward and a backward substitution.
//
// The symbolic structure is immutable and may be shared; each Cholesky
// holds its own numerical workspace, so repeated factorisations with new
// values (Newton iterations, time steps, sensitivity runs) allocate
// nothing.
//
// Values are addressed in pivot order: Symbolic.Pivot maps an original
// row to its position in the factor, and Analyze returns for every input
// edge the slot of its off-diagonal entry in Cholesky.Lower. Callers that
// assemble the matrix many times (hydraulic solvers) write straight into
// Cholesky.Diag, Cholesky.Lower and Cholesky.RHS through these maps; the
// Add helpers do the same for occasional use.
package sparse
