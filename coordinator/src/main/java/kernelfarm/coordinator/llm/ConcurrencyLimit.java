package kernelfarm.coordinator.llm;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * At most {@code max} tasks hold a slot at once; the rest wait in arrival order. No thread waits: a queued task
 * runs on the thread that frees the slot it takes.
 */
final class ConcurrencyLimit {
  private final int max;
  private final Deque<Runnable> waiting = new ArrayDeque<>();
  private int running;

  ConcurrencyLimit(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("max must be >= 1, got " + max);
    }
    this.max = max;
  }

  /** Runs {@code start} now if a slot is free, else once one is. Whoever holds the slot must {@link #release()}. */
  void submit(Runnable start) {
    synchronized (this) {
      if (running >= max) {
        waiting.addLast(start);
        return;
      }
      running++;
    }
    start.run();
  }

  void release() {
    Runnable next;
    synchronized (this) {
      next = waiting.pollFirst();
      if (next == null) {
        running--;
        return;
      }
    }
    // The slot passes straight to the oldest waiter, so a newcomer cannot take it first.
    next.run();
  }

  synchronized int running() {
    return running;
  }

  synchronized int waiting() {
    return waiting.size();
  }
}
