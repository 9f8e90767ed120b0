/** Runnable demos of Loadstar. */
@NullMarked
package io.loadstar.samples;

import org.jspecify.annotations.NullMarked;
