package kernelfarm.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SparesToKeepTest {
  @Test
  void keepsTheFloorUntilBothDurationsAreKnown() {
    assertEquals(3, Evaluator.sparesToKeep(0, 0, 3, 8));
    assertEquals(3, Evaluator.sparesToKeep(9.0, 0, 3, 8));
    assertEquals(3, Evaluator.sparesToKeep(0, 2.0, 3, 8));
  }

  @Test
  void coversTheEvaluationsThatRunWhileAReplacementStarts() {
    // 9 s to start, 2.4 s per evaluation: 4 candidates are evaluated while one replacement comes up, plus the
    // spare the next evaluation takes.
    assertEquals(5, Evaluator.sparesToKeep(9.0, 2.4, 3, 8));
    // Fast starts need no more than the floor.
    assertEquals(3, Evaluator.sparesToKeep(2.0, 5.0, 3, 8));
  }

  @Test
  void neverExceedsTheCeiling() {
    assertEquals(8, Evaluator.sparesToKeep(60.0, 0.5, 3, 8));
  }
}
