package kernelfarm.coordinator.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The inline reasoning shapes R1-style models produce when no reasoning parser strips them. */
class ThinkBlocksTest {
  @Test
  void textWithoutTagsIsLeftAlone() {
    assertEquals(new ThinkBlocks.Split("", "  plain answer\n"), ThinkBlocks.split("  plain answer\n"));
  }

  @Test
  void everyBlockGoesToReasoning() {
    assertEquals(new ThinkBlocks.Split("one\n\ntwo", "A B"),
        ThinkBlocks.split("<think>one</think>A <THINK>two</think>B"));
  }

  @Test
  void closingTagWithoutOpeningMeansTheTemplateOpenedIt() {
    assertEquals(new ThinkBlocks.Split("reasoning first", "answer"),
        ThinkBlocks.split("reasoning first\n</think>\n\nanswer"));
  }

  @Test
  void unterminatedBlockIsAllReasoning() {
    assertEquals(new ThinkBlocks.Split("ran out of tokens", "Intro"),
        ThinkBlocks.split("Intro <think>ran out of tokens"));
  }
}
