package aio

// Option configures a Context made by NewContext.
type Option func(*config)

type config struct {
	manual bool
}

// Manual selects manual reaping: completions are collected by calling
// GetEvents, and no goroutine of the package's runs for the Context.
//
// In this version every Context reaps this way, so the option changes
// nothing yet. A completion stream (a channel of Events fed through Go's
// netpoller) is to become the default; code that reaps with GetEvents
// should pass Manual now so that it keeps working unchanged then.
func Manual() Option { return func(c *config) { c.manual = true } }
