/** JMH benchmarks of Loadstar's hot path; see {@code lb-bench/README.md} for how to run them. */
package io.loadstar.bench;
