/**
 * Java binding of libdiffuse (capi/diffuse.h): {@link org.diffuse.Trainer}, {@link org.diffuse.Model},
 * {@link org.diffuse.Sampler}, {@link org.diffuse.PostHocEma} and {@link org.diffuse.Diffuse}.
 *
 * <p>Errors: every failed call throws a {@link org.diffuse.DiffuseException} carrying the C status code
 * and the library's message; use of a closed object throws {@link IllegalStateException}.
 *
 * <p>Ownership: Trainer and Model hold native memory until {@code close()} (use try-with-resources);
 * arrays passed in and returned are copies owned by Java.
 *
 * <p>Threads: one call at a time per Trainer, except {@code status()} and {@code requestStop()}, which
 * may come from other threads during {@code run()} (a concurrent {@code run()} fails with status BUSY);
 * any number of threads may sample from one Model, while {@code save()} and {@code close()} need
 * exclusive use. The JNI library {@code libdiffuse_java.so} is found through
 * {@code java.library.path}.
 */
package org.diffuse;
