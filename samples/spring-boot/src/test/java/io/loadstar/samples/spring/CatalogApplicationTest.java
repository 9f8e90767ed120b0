package io.loadstar.samples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The sample as the README runs it: a backend stopped a third of the way costs no GET. */
class CatalogApplicationTest {

  @Test
  void runs_andNoGetFails_thoughABackendStopsMidway() throws Exception {
    assertThat(CatalogApplication.run("--catalog.calls=150")).isZero();
  }
}
