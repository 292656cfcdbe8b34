package kernelfarm.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CandidateIdTest {
  private static final String SOURCE = "import torch\n\nclass ModelNew:\n    pass";

  @Test
  void isTheFirst16HexOfSha256OverProblemIdAndSource() {
    // Pinned: ids key the verdict cache and persisted events, so the hash must never change by accident.
    // python3 -c 'import hashlib; print(hashlib.sha256(b"level1/19_ReLU\nimport torch\n\nclass ModelNew:\n    pass")
    //   .hexdigest()[:16])'
    assertEquals("c-a7bf58c893f62ab9", CandidateId.of("level1/19_ReLU", SOURCE).value());
  }

  @Test
  void ignoresLineEndingsTrailingWhitespaceAndTrailingBlankLines() {
    String noisy = "import torch  \r\n\t\r\nclass ModelNew:\t\r\n    pass \r\n\r\n   \n\n";
    assertEquals(CandidateId.of("level1/19_ReLU", SOURCE), CandidateId.of("level1/19_ReLU", noisy));
  }

  @Test
  void keepsIndentationAndInnerBlankLines() {
    CandidateId id = CandidateId.of("level1/19_ReLU", SOURCE);
    assertNotEquals(id, CandidateId.of("level1/19_ReLU", "import torch\n\nclass ModelNew:\n  pass"));
    assertNotEquals(id, CandidateId.of("level1/19_ReLU", "import torch\nclass ModelNew:\n    pass"));
    assertNotEquals(id, CandidateId.of("level1/19_ReLU", " import torch\n\nclass ModelNew:\n    pass"));
  }

  @Test
  void differsByProblem() {
    assertNotEquals(CandidateId.of("level1/19_ReLU", SOURCE), CandidateId.of("level1/20_LeakyReLU", SOURCE));
  }

  @Test
  void printsAsItsValue() {
    CandidateId id = CandidateId.of("level1/19_ReLU", SOURCE);
    assertTrue(id.value().matches("c-[0-9a-f]{16}"), id.value());
    assertEquals(id.value(), id.toString());
  }

  @Test
  void refusesABlankValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CandidateId(" "));
    assertEquals("value must not be blank", e.getMessage());
  }
}
