package aio

// Option configures a Context made by NewContext.
type Option func(*config)

type config struct {
	manual bool
}

// Manual selects manual reaping: completions are collected by calling
// GetEvents, and no goroutine of the package's runs for the Context. It is
// the only mode in this version, so the option changes nothing yet; code
// that reaps with GetEvents should pass it to keep doing so.
func Manual() Option { return func(c *config) { c.manual = true } }
