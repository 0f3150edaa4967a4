package redirects

// IsLocal reports whether host names this machine (localhost, a name under
// .localhost, a loopback or unspecified IP address): the one definition of
// "loopback" for every URL rule that allows http locally in development,
// such as the lazy migration endpoint (internal/legacyauth).
func IsLocal(host string) bool { return isLocal(host) }
