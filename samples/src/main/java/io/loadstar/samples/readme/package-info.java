/**
 * The README's code, compiled by the build: each README code block is the text between the {@code
 * tag::readme[]} and {@code end::readme[]} comments of one file here (ReadmeTest checks that they
 * agree), so a snippet cannot drift from an API that compiles.
 */
@NullMarked
package io.loadstar.samples.readme;

import org.jspecify.annotations.NullMarked;
