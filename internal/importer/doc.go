// Package importer is `gatehouse import`: it reads another auth system's
// export and writes it into a running Gatehouse (docs/migrating.md).
//
// A run goes through four steps:
//
//   - Read: one reader per source format, each in its own file
//     (generic.go, ...), turns the source's files into a Dataset of
//     organizations, users, memberships and password hashes in encodings
//     internal/passwords accepts, rejecting the rows it cannot map with a
//     reason. Dataset.Dedupe then refuses rows repeating an email or
//     external id.
//   - Batch: batches.go cuts the dataset into batches of at most 1,000
//     rows and 900 KiB, the same ones for the same input, each known by
//     the digest of its content.
//   - Write: bulk.go sends each batch to gatehouse.v1.ImportService;
//     compat.go instead writes row by row through the Scalekit-compatible
//     API. Conn (client.go) retries what a retry can fix (429 after
//     Retry-After, a refused token once, an unreachable server with
//     backoff).
//   - Record: state.go appends each answered batch to the state file and
//     syncs it, so a run killed at any moment resumes where it stopped;
//     the bulk API's idempotency makes re-sending an in-flight batch safe.
//
// Nothing here knows about cobra or flags; internal/cli wires the command.
package importer
