package mail

import "context"

// DeliverOnce runs one pass of the worker, for tests that step a fake
// clock between passes instead of waiting for ticks.
func (w *Worker) DeliverOnce(ctx context.Context) error { return w.deliver(ctx) }
