package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class WeightedDrawTest {

  @Test
  void equalWeights_needNoTable() {
    assertThat(WeightedDraw.of(new int[] {3, 3, 3})).isNull();
  }

  @Test
  void draws_followTheWeights_evenADominantOne() {
    int[][] cases = {{1, 2, 3, 4}, {1, 1, 1, 997}, {100, 85, 113, 97, 104}, {7, 1}};
    SplittableRandom random = new SplittableRandom(11);
    for (int[] weights : cases) {
      WeightedDraw draw = WeightedDraw.of(weights);
      long total = 0;
      for (int w : weights) {
        total += w;
      }
      int n = 1_000_000;
      int[] counts = new int[weights.length];
      for (int i = 0; i < n; i++) {
        counts[draw.draw(random.nextLong())]++;
      }
      for (int i = 0; i < weights.length; i++) {
        double p = (double) weights[i] / total;
        double sigma = Math.sqrt(n * p * (1 - p));
        assertThat((double) counts[i])
            .isCloseTo(n * p, org.assertj.core.data.Offset.offset(5 * sigma + 1));
      }
    }
  }
}
