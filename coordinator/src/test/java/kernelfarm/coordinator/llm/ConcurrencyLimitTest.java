package kernelfarm.coordinator.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Slots pass to waiters in arrival order. */
class ConcurrencyLimitTest {
  @Test
  void waitersStartInArrivalOrderAsSlotsFree() {
    ConcurrencyLimit limit = new ConcurrencyLimit(2);
    List<String> started = new ArrayList<>();
    for (String name : List.of("a", "b", "c", "d", "e")) {
      limit.submit(() -> started.add(name));
    }
    assertEquals(List.of("a", "b"), started);
    assertEquals(3, limit.waiting());

    limit.release();
    limit.release();
    assertEquals(List.of("a", "b", "c", "d"), started);
    assertEquals(2, limit.running());

    limit.release();
    limit.release();
    limit.release();
    assertEquals(List.of("a", "b", "c", "d", "e"), started);
    assertEquals(0, limit.running());
    assertEquals(0, limit.waiting());
  }
}
