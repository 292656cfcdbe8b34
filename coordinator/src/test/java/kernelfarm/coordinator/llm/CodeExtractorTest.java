package kernelfarm.coordinator.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Answers shaped the way models write them. */
class CodeExtractorTest {
  private static final String MODEL_NEW = "import torch\n\nclass ModelNew(torch.nn.Module):\n"
      + "    def forward(self, x):\n        return torch.relu(x)\n";

  private static Optional<String> code(String source) {
    return Optional.of(source);
  }

  @Test
  void takesThePythonBlockOutOfProse() {
    String answer = "Here is an optimised version.\n\n```python\n" + MODEL_NEW + "```\n\nIt fuses the ReLU.";
    assertEquals(code(MODEL_NEW), CodeExtractor.extract(answer));
  }

  @Test
  void ofSeveralBlocksTakesTheLastThatDefinesModelNew() {
    String draft = "class ModelNew(torch.nn.Module):\n    pass  # draft\n";
    String helper = "def launch(x):\n    return x\n# a long helper block that does not define the module at all\n";
    String answer = "First try:\n```python\n" + draft + "```\nThe CUDA part:\n```cpp\n__global__ void relu() {}\n```\n"
        + "Final:\n```py\n" + MODEL_NEW + "```\nAnd a helper:\n```python\n" + helper + "```\n";
    assertEquals(code(MODEL_NEW), CodeExtractor.extract(answer));
  }

  @Test
  void withoutModelNewTakesTheLongestPythonBlock() {
    String answer = "```python\nx = 1\n```\n```python\nimport torch\ny = torch.ones(3)\n```\n"
        + "```bash\npip install a-much-longer-line\n```";
    assertEquals(code("import torch\ny = torch.ones(3)\n"), CodeExtractor.extract(answer));
  }

  @Test
  void blockWithoutLanguageTagCounts() {
    assertEquals(code(MODEL_NEW), CodeExtractor.extract("Solution:\n```\n" + MODEL_NEW + "```"));
  }

  @Test
  void tildeFencesCountAndBackticksInsideThemDoNotClose() {
    String withBackticks = MODEL_NEW + "# ```not a fence here\n";
    assertEquals(code(withBackticks), CodeExtractor.extract("~~~python\n" + withBackticks + "~~~\n"));
  }

  @Test
  void unterminatedFinalFenceRunsToTheEnd() {
    String answer =
        "The kernel:\n```cpp\n__global__ void relu() {}\n```\nThe module:\n```python\n" + MODEL_NEW + "\n\n";
    assertEquals(code(MODEL_NEW), CodeExtractor.extract(answer));
  }

  @Test
  void noCodeGivesEmpty() {
    assertEquals(Optional.empty(), CodeExtractor.extract("I am not able to speed this up further."));
    assertEquals(Optional.empty(), CodeExtractor.extract(""));
    assertEquals(Optional.empty(), CodeExtractor.extract(null));
    assertEquals(Optional.empty(), CodeExtractor.extract("Only CUDA:\n```cuda\n__global__ void k() {}\n```"));
    assertEquals(Optional.empty(), CodeExtractor.extract("Use ```python fences``` inline, says the prose."));
  }

  @Test
  void windowsLineEndingsBecomeNewlines() {
    String answer = ("Here:\n```python\n" + MODEL_NEW + "```\n").replace("\n", "\r\n");
    assertEquals(code(MODEL_NEW), CodeExtractor.extract(answer));
  }

  @Test
  void draftsInsideThinkBlocksAreIgnored() {
    String answer =
        "<think>\n```python\nclass ModelNew:\n    draft = True\n```\n</think>\n```python\n" + MODEL_NEW + "```";
    assertEquals(code(MODEL_NEW), CodeExtractor.extract(answer));
  }

  @Test
  void fenceIndentedInAListIsDedented() {
    String indented = "   ```python\n" + MODEL_NEW.lines().map(l -> l.isEmpty() ? l : "   " + l)
        .reduce("", (a, l) -> a + l + "\n") + "   ```\n";
    assertEquals(code(MODEL_NEW), CodeExtractor.extract("1. Replace the model:\n" + indented));
  }

  @Test
  void unfencedCodeIsTakenFromItsFirstImport() {
    assertEquals(code(MODEL_NEW), CodeExtractor.extract("Sure! The new module follows.\n\n" + MODEL_NEW));
  }

  @Test
  void pythonBlockThatDefinesModelNewBeatsALaterTextBlockMentioningIt() {
    String answer = "```python\nprint('test harness')\n```\n```python3\n" + MODEL_NEW + "```\n```text\n"
        + "class ModelNew is above\n```";
    assertEquals(code(MODEL_NEW), CodeExtractor.extract(answer));
  }
}
