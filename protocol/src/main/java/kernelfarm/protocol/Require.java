package kernelfarm.protocol;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/** The checks our compact constructors share; every message names the component and the value it refused. */
final class Require {
  private Require() {}

  static <T> T nonNull(T value, String name) {
    return Objects.requireNonNull(value, () -> name + " must not be null");
  }

  static String nonBlank(String value, String name) {
    if (nonNull(value, name).isBlank()) {
      throw new IllegalArgumentException(name + " must not be blank");
    }
    return value;
  }

  static int atLeast(int value, int min, String name) {
    if (value < min) {
      throw new IllegalArgumentException(name + " must be >= " + min + ", got " + value);
    }
    return value;
  }

  static long atLeast(long value, long min, String name) {
    if (value < min) {
      throw new IllegalArgumentException(name + " must be >= " + min + ", got " + value);
    }
    return value;
  }

  /** Also refuses NaN, which every comparison answers false. */
  static double nonNegative(double value, String name) {
    if (!(value >= 0)) {
      throw new IllegalArgumentException(name + " must be >= 0, got " + value);
    }
    return value;
  }

  /** Harness JSON leaves out lists a stage never filled: absent means none. */
  static <T> List<T> copyOrEmpty(List<T> list) {
    return list == null ? List.of() : List.copyOf(list);
  }

  static <K, V> Map<K, V> copyOrEmpty(Map<K, V> map) {
    return map == null ? Map.of() : Map.copyOf(map);
  }
}
