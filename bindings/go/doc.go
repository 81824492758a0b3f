// Package diffuse trains and samples EDM2 diffusion models with libdiffuse (capi/diffuse.h).
//
// A Trainer runs a training configured by a TrainConfig (protobuf text, JSON or binary), a batch of
// steps per Run call; a Model opened from a checkpoint, EMA snapshot or post-hoc EMA output samples
// images through a Sampler; PostHocEMA reconstructs EMA profiles from a run's snapshots.
//
// Errors: every failure is an *Error carrying the C status code and the library's message.
// Ownership: Trainer and Model own native memory; call Close (a finalizer is only a safety net).
// Threads: one call at a time per Trainer, except Status and RequestStop, which may come from other
// goroutines during Run (a concurrent Run returns StatusBusy); any number of goroutines may sample
// from one Model, while Save and Close need exclusive use.
package diffuse
