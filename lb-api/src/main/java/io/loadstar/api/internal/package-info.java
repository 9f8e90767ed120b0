/**
 * Not API: helpers Loadstar's own modules share. They may change or go away in any release without
 * notice; do not use them from applications.
 */
@NullMarked
package io.loadstar.api.internal;

import org.jspecify.annotations.NullMarked;
