package io.loadstar.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.core.Subsetting;
import java.util.BitSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Which slot a claimant tries, and which keys are slots. */
class SlotClaimTest {

  @Test
  void afterLostRaces_theWaitDoublesFrom2MsTo32_atRandomBelowIt() {
    SplittableRandom random = new SplittableRandom(42);
    for (int tries = 1; tries <= 40; tries++) {
      long bound = (long) SlotClaim.BACKOFF_MILLIS << Math.min(tries - 1, 4);
      long max = 0;
      long min = Long.MAX_VALUE;
      for (int i = 0; i < 2_000; i++) {
        long wait = SlotClaim.backoffMillis(tries, random);
        assertThat(wait).as("after %d lost races", tries).isBetween(0L, bound - 1);
        max = Math.max(max, wait);
        min = Math.min(min, wait);
      }
      assertThat(min).isZero();
      assertThat(max).isEqualTo(bound - 1);
    }
  }

  @Test
  void theNthFreeSlot_skipsTakenOnes() {
    BitSet taken = new BitSet();
    assertThat(SlotClaim.nthFree(taken, 0)).isZero();
    assertThat(SlotClaim.nthFree(taken, 3)).isEqualTo(3);
    taken.set(0, 3);
    taken.set(4);
    taken.set(6); // free: 3, 5, 7, 8, ...
    assertThat(SlotClaim.nthFree(taken, 0)).isEqualTo(3);
    assertThat(SlotClaim.nthFree(taken, 1)).isEqualTo(5);
    assertThat(SlotClaim.nthFree(taken, 2)).isEqualTo(7);
    assertThat(SlotClaim.nthFree(taken, 3)).isEqualTo(8);
  }

  @Test
  void theQueueIsASiblingOfThePrefix_notUnderIt_norAnotherServicesPrefix() {
    assertThat(SlotClaim.queueOf("/loadstar/peer-slots/orders/"))
        .isEqualTo("/loadstar/peer-slots/orders~queue/");
  }

  @Test
  void slotsAreDecimalNumbersWithoutLeadingZeros_belowMaxClients() {
    assertThat(SlotClaim.slotOf("/p/0", "/p/")).isZero();
    assertThat(SlotClaim.slotOf("/p/17", "/p/")).isEqualTo(17);
    assertThat(SlotClaim.parseSlot(Integer.toString(Subsetting.MAX_CLIENTS - 1)))
        .isEqualTo(Subsetting.MAX_CLIENTS - 1);
    for (String no :
        new String[] {"", "01", "-1", "+1", "1a", "a", " 1", "1.0", "99999999", "10000000"}) {
      assertThat(SlotClaim.parseSlot(no)).as("'%s'", no).isEqualTo(-1);
    }
    assertThat(SlotClaim.slotOf("/q/1", "/p/")).isEqualTo(-1);
    assertThat(SlotClaim.slotOf("/p/1/x", "/p/")).isEqualTo(-1);
  }
}
