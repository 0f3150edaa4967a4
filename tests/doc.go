// Package tests holds black-box suites that drive Gatehouse from the
// outside with real clients: the official Scalekit Node SDK today, browsers
// and conformance suites later. Each starts a real server on loopback.
package tests
