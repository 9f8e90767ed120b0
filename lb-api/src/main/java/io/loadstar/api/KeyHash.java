package io.loadstar.api;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/*
 * Design notes: a 64-bit hash with MurmurHash3's x64 mixing (lane rounds and fmix64 finaliser),
 * written out here so that hashing is identical on every JVM, every platform and every version of
 * Loadstar: consistent hashing depends on it. Strings are hashed as their UTF-8 bytes without
 * being encoded: an ASCII string (checked in the same pass) packs 8 chars into a round, any other
 * is encoded char by char on the fly; neither allocates. The values are part of Loadstar's compatibility
 * contract: changing them remaps every consistent-hash key.
 */
/** Loadstar's stable 64-bit hash. Stateless; safe for concurrent use. */
public final class KeyHash {

  private static final long C1 = 0x87c37b91114253d5L;
  private static final long C2 = 0x4cf5ad432745937fL;
  private static final VarHandle LONG_LE =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private KeyHash() {}

  /** Hashes {@code bytes} with the given seed. */
  public static long hash(byte[] bytes, long seed) {
    int len = bytes.length;
    long h = seed ^ (len * 0x9E3779B97F4A7C15L);
    int i = 0;
    for (; i + 8 <= len; i += 8) {
      h = round(h, (long) LONG_LE.get(bytes, i));
    }
    long tail = 0;
    for (int shift = 0; i < len; i++, shift += 8) {
      tail |= (bytes[i] & 0xFFL) << shift;
    }
    h = round(h, tail);
    return fmix64(h ^ len);
  }

  /**
   * Hashes the UTF-8 encoding of {@code chars} with the given seed, without encoding or allocating:
   * the same value as {@link #hash(byte[], long)} of {@code chars.toString().getBytes(UTF_8)}.
   */
  public static long hash(CharSequence chars, long seed) {
    if (!(chars instanceof String)) {
      return hashUtf8(chars, seed);
    }
    // ASCII, the usual key (an id, a user name): each char is its UTF-8 byte, 8 chars a round.
    String s = (String) chars;
    int n = s.length();
    long h = seed ^ (n * 0x9E3779B97F4A7C15L);
    int seen = 0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      int c0 = s.charAt(i);
      int c1 = s.charAt(i + 1);
      int c2 = s.charAt(i + 2);
      int c3 = s.charAt(i + 3);
      int c4 = s.charAt(i + 4);
      int c5 = s.charAt(i + 5);
      int c6 = s.charAt(i + 6);
      int c7 = s.charAt(i + 7);
      seen |= c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7;
      long k =
          c0
              | (long) c1 << 8
              | (long) c2 << 16
              | (long) c3 << 24
              | (long) c4 << 32
              | (long) c5 << 40
              | (long) c6 << 48
              | (long) c7 << 56;
      h = round(h, k);
    }
    long tail = 0;
    for (int shift = 0; i < n; i++, shift += 8) {
      int c = s.charAt(i);
      seen |= c;
      tail |= (long) c << shift;
    }
    if (seen >= 0x80) {
      return hashUtf8(s, seed); // not ASCII: encode on the fly
    }
    return fmix64(round(h, tail) ^ n);
  }

  /** Hashes the UTF-8 encoding of {@code chars}, encoding each char on the fly. */
  private static long hashUtf8(CharSequence chars, long seed) {
    int n = chars.length();
    long h = seed ^ (utf8Length(chars) * 0x9E3779B97F4A7C15L);
    long acc = 0;
    int filled = 0;
    int total = 0;
    for (int i = 0; i < n; i++) {
      int cp = chars.charAt(i);
      if (Character.isHighSurrogate((char) cp) && i + 1 < n) {
        char low = chars.charAt(i + 1);
        if (Character.isLowSurrogate(low)) {
          cp = Character.toCodePoint((char) cp, low);
          i++;
        }
      }
      if (Character.isSurrogate((char) cp) && cp < 0x10000) {
        cp = '?'; // an unpaired surrogate encodes as '?', as String.getBytes(UTF_8) does
      }
      int count;
      int b0;
      int b1 = 0;
      int b2 = 0;
      int b3 = 0;
      if (cp < 0x80) {
        count = 1;
        b0 = cp;
      } else if (cp < 0x800) {
        count = 2;
        b0 = 0xC0 | (cp >>> 6);
        b1 = 0x80 | (cp & 0x3F);
      } else if (cp < 0x10000) {
        count = 3;
        b0 = 0xE0 | (cp >>> 12);
        b1 = 0x80 | ((cp >>> 6) & 0x3F);
        b2 = 0x80 | (cp & 0x3F);
      } else {
        count = 4;
        b0 = 0xF0 | (cp >>> 18);
        b1 = 0x80 | ((cp >>> 12) & 0x3F);
        b2 = 0x80 | ((cp >>> 6) & 0x3F);
        b3 = 0x80 | (cp & 0x3F);
      }
      for (int j = 0; j < count; j++) {
        int b = j == 0 ? b0 : j == 1 ? b1 : j == 2 ? b2 : b3;
        acc |= (b & 0xFFL) << (filled << 3);
        total++;
        if (++filled == 8) {
          h = round(h, acc);
          acc = 0;
          filled = 0;
        }
      }
    }
    h = round(h, acc);
    return fmix64(h ^ total);
  }

  /** Hashes a 64-bit value with the given seed. */
  public static long hash(long value, long seed) {
    return fmix64(round(seed ^ (8 * 0x9E3779B97F4A7C15L), value) ^ 8);
  }

  /** MurmurHash3's 64-bit finaliser: a bijective mix with full avalanche. */
  public static long fmix64(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    k ^= k >>> 33;
    return k;
  }

  private static long round(long h, long k) {
    k *= C1;
    k = Long.rotateLeft(k, 31);
    k *= C2;
    h ^= k;
    return Long.rotateLeft(h, 27) * 5 + 0x52dce729;
  }

  private static int utf8Length(CharSequence chars) {
    int n = chars.length();
    int len = 0;
    for (int i = 0; i < n; i++) {
      char c = chars.charAt(i);
      if (c < 0x80) {
        len++;
      } else if (c < 0x800) {
        len += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < n
          && Character.isLowSurrogate(chars.charAt(i + 1))) {
        len += 4;
        i++;
      } else if (Character.isSurrogate(c)) {
        len++;
      } else {
        len += 3;
      }
    }
    return len;
  }
}
