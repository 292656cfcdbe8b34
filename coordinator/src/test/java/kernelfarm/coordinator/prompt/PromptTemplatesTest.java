package kernelfarm.coordinator.prompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.stream.Stream;
import kernelfarm.coordinator.prompt.PromptTemplates.Template;
import kernelfarm.protocol.Backend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real prompts/ folder loads and renders; a broken copy of it is refused with the file and the fix. */
class PromptTemplatesTest {
  // Surefire runs in the module folder; the templates live beside it in the repository root.
  static final Path REAL = Path.of("..", "prompts");

  @Test
  void realSystemAndProblemRenderWithoutPlaceholdersLeft() {
    PromptTemplates templates = PromptTemplates.load(REAL);
    String system = templates.system(Backend.TRITON);
    String problem = templates.problem(Backend.TRITON, "class Model(nn.Module):\n    pass  # marker-42");
    assertTrue(system.contains("ModelNew") && system.contains("triton"), system);
    assertTrue(system.contains("```python"), system);
    assertTrue(problem.contains("class Model(nn.Module):\n    pass  # marker-42"), problem);
    assertTrue(problem.contains("triton backend"), problem);
    assertFalse(system.contains("{{") || problem.contains("{{"));
  }

  @Test
  void valuesAreInsertedOnceNotExpandedAgain() {
    String problem = PromptTemplates.load(REAL).problem(Backend.CUDA, "x = '{{backend}}'");
    assertTrue(problem.contains("x = '{{backend}}'"), problem);
  }

  @Test
  void missingValueNamesThePlaceholder() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> PromptTemplates.load(REAL).render(Template.PROBLEM, Map.of("backend", "cuda")));
    assertTrue(e.getMessage().contains("{{problem_source}}"), e.getMessage());
    assertTrue(e.getMessage().contains("problem.md"), e.getMessage());
  }

  @Test
  void unknownPlaceholderNamesFilePlaceholderAndKnownOnes(@TempDir Path dir) throws IOException {
    copyReal(dir);
    Files.writeString(dir.resolve("feedback/COMPILE_ERROR.md"), "\nspeedup was {{ speedup }}\n",
        StandardOpenOption.APPEND);
    var e = assertThrows(IllegalArgumentException.class, () -> PromptTemplates.load(dir));
    String message = e.getMessage();
    assertTrue(message.contains("COMPILE_ERROR.md uses unknown placeholder {{speedup}}"), message);
    assertTrue(message.contains("fix its spelling or remove it"), message);
    assertTrue(message.contains("{{best_speedup}}, {{round}}, {{stage}}, {{summary}}"), message);
    assertFalse(message.contains("INCORRECT.md"), "only the broken file is named: " + message);
  }

  @Test
  void missingFileNamesItAndWhereToGetIt(@TempDir Path dir) throws IOException {
    copyReal(dir);
    Files.delete(dir.resolve("feedback/NO_CODE.md"));
    Files.delete(dir.resolve("system.md"));
    var e = assertThrows(IllegalArgumentException.class, () -> PromptTemplates.load(dir));
    String message = e.getMessage();
    assertTrue(message.contains("NO_CODE.md is missing; copy feedback/NO_CODE.md from KernelFarm's prompts/"),
        message);
    assertTrue(message.contains("system.md is missing"), "every error is listed: " + message);
  }

  @Test
  void missingFolderIsNamed(@TempDir Path dir) {
    var e = assertThrows(IllegalArgumentException.class, () -> PromptTemplates.load(dir.resolve("nope")));
    assertTrue(e.getMessage().contains("nope does not exist"), e.getMessage());
  }

  @Test
  void everyTemplateOfTheRealFolderLoads() throws IOException {
    // The enum is the list the loader checks; the folder must not hold stray templates it would never read.
    // demo/ holds the replay endpoint's recorded answers, not templates.
    try (Stream<Path> files = Files.walk(REAL)) {
      long templates = files.filter(p -> p.toString().endsWith(".md") && !p.endsWith("README.md")
          && !REAL.relativize(p).startsWith("demo")).count();
      assertEquals(Template.values().length, templates);
    }
    PromptTemplates.load(REAL);
  }

  private static void copyReal(Path dir) throws IOException {
    Files.createDirectories(dir.resolve("feedback"));
    for (Template template : Template.values()) {
      Files.copy(REAL.resolve(template.path()), dir.resolve(template.path()));
    }
  }
}
