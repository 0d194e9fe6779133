// Compiles the C core from csrc/ into this package, so that go build needs
// nothing but a C compiler and libaio. The make build of csrc/ produces the
// same code as libaiocore.a for C users.
#include "align.c"
#include "context.c"
#include "prep.c"
#include "reap.c"
#include "ring.c"
#include "submit.c"
