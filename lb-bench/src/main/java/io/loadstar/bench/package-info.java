/** JMH benchmarks of Loadstar's hot path; see {@code lb-bench/README.md} for how to run them. */
@NullMarked
package io.loadstar.bench;

import org.jspecify.annotations.NullMarked;
