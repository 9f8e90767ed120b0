package io.loadstar.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class KeyHashTest {

  @Test
  void hash_knownVectors_neverChange() {
    // Consistent hashing maps keys through these values: a change remaps every key of every user.
    assertThat(KeyHash.hash(new byte[0], 0)).isEqualTo(0x708778e4f48d2d9aL);
    assertThat(KeyHash.hash("hello".getBytes(StandardCharsets.UTF_8), 0))
        .isEqualTo(0xa8d6f21b55fecc86L);
    assertThat(KeyHash.hash("0123456789abcdef".getBytes(StandardCharsets.UTF_8), 0))
        .isEqualTo(0x09ed17312247fd91L);
    assertThat(KeyHash.hash("10.0.0.1:8080", 0x6c6f616473746172L)).isEqualTo(0xaa6178a9cdc40bf3L);
    assertThat(KeyHash.hash(42L, 0)).isEqualTo(0xb3856c955a836198L);
  }

  @Test
  void hash_string_equalsHashOfItsUtf8Bytes() {
    String[] samples = {
      "", "a", "user-42", "ünïcödé", "日本語のキー", "emoji \uD83D\uDE80 key", "lone \uD800 surrogate"
    };
    for (String s : samples) {
      assertThat(KeyHash.hash(s, 7))
          .as(s)
          .isEqualTo(KeyHash.hash(s.getBytes(StandardCharsets.UTF_8), 7));
    }
    SplittableRandom random = new SplittableRandom(3);
    for (int i = 0; i < 10_000; i++) {
      char[] chars = new char[random.nextInt(40)];
      for (int j = 0; j < chars.length; j++) {
        chars[j] = (char) random.nextInt(Character.MAX_VALUE + 1);
      }
      String s = new String(chars);
      assertThat(KeyHash.hash(s, 0)).isEqualTo(KeyHash.hash(s.getBytes(StandardCharsets.UTF_8), 0));
    }
  }

  @Test
  void hash_asciiFastPath_equalsTheUtf8BytesHash_anyLengthAnyCharSequence() {
    SplittableRandom random = new SplittableRandom(5);
    for (int i = 0; i < 10_000; i++) {
      char[] chars = new char[random.nextInt(41)];
      for (int j = 0; j < chars.length; j++) {
        chars[j] = (char) random.nextInt(0x80);
      }
      String s = new String(chars);
      long expected = KeyHash.hash(s.getBytes(StandardCharsets.UTF_8), 11);
      assertThat(KeyHash.hash(s, 11)).as(s).isEqualTo(expected);
      assertThat(KeyHash.hash(new StringBuilder(s), 11)).as(s).isEqualTo(expected);
      if (chars.length > 0) { // one non-ASCII char anywhere: the general path, the same value
        chars[random.nextInt(chars.length)] = (char) (0x80 + random.nextInt(0x7000));
        String t = new String(chars);
        assertThat(KeyHash.hash(t, 11))
            .as(t)
            .isEqualTo(KeyHash.hash(t.getBytes(StandardCharsets.UTF_8), 11));
      }
    }
  }

  @Test
  void pickContext_hashesItsKeyOnce_asKeyHashWithSeedZero() {
    String key = "user-1234567890-abcd"; // 20 characters
    assertThat(PickContext.ofHashKey(key).hashKey()).isEqualTo(KeyHash.hash(key, 0));
    assertThat(PickContext.builder().hashKey(key).build().hashKey())
        .isEqualTo(KeyHash.hash(key, 0));
    assertThat(PickContext.ofHashKey(key.getBytes(StandardCharsets.UTF_8)).hashKey())
        .isEqualTo(KeyHash.hash(key, 0));
    assertThat(PickContext.ofHashKey(42L).hashKey()).isEqualTo(KeyHash.hash(42L, 0));
    PickContext retry = PickContext.ofHashKey(key).withTried(Endpoint.of("10.0.0.1", 80));
    assertThat(retry.hashKey()).isEqualTo(KeyHash.hash(key, 0));
    assertThat(retry.toBuilder().build().hashKey()).isEqualTo(KeyHash.hash(key, 0));
  }

  @Test
  void hash_differentSeeds_differ() {
    assertThat(KeyHash.hash("k", 1)).isNotEqualTo(KeyHash.hash("k", 2));
  }

  @Test
  void pickContext_hashKeyIsDefensivelyCopied() {
    byte[] key = {1, 2, 3};
    PickContext context = PickContext.ofHashKey(key);
    long before = context.hashKey();
    key[0] = 9;
    assertThat(context.hashKey()).isEqualTo(before);
  }

  @Test
  void pickContext_withTried_excludesByKey() {
    Endpoint a = Endpoint.of("10.0.0.1", 80);
    PickContext context = PickContext.empty().withTried(a.withWeight(7));
    assertThat(context.isTried(a)).isTrue();
    assertThat(context.isTried(Endpoint.of("10.0.0.2", 80))).isFalse();
    assertThat(PickContext.empty().triedCount()).isZero();
  }

  @Test
  void endpoint_equalityCoversAllFields_keyOnlyIdentity() {
    Endpoint a = Endpoint.of("10.0.0.1", 80);
    assertThat(a.withWeight(2)).isNotEqualTo(a);
    assertThat(a.withWeight(2).key()).isEqualTo(a.key());
    assertThat(Endpoint.of("::1", 80).key()).isEqualTo("[::1]:80");
    assertThat(Endpoint.of("[::1]", 80)).isEqualTo(Endpoint.of("::1", 80));
    assertThat(a.withKey("pod-7").key()).isEqualTo("pod-7");
  }
}
