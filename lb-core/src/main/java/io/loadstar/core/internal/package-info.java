/**
 * Not API: what lb-core shares with Loadstar's other modules (lb-dns, lb-okhttp). These types may
 * change or go away in any release without notice; do not use them from applications.
 */
@NullMarked
package io.loadstar.core.internal;

import org.jspecify.annotations.NullMarked;
