/** Runnable demos of Loadstar. */
package io.loadstar.samples;
