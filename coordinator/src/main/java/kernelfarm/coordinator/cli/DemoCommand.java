package kernelfarm.coordinator.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code kfarm demo}: the embedded default. Until the closed LLM loop lands it verifies the project's example
 * candidates (examples/) on a local node: a fused C++ kernel, a plain PyTorch rewrite, two wrong answers and a
 * cheat, so every kind of verdict shows.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Verify the example candidates in examples/ on a local node and print the verdicts.")
final class DemoCommand implements Callable<Integer> {
  @Mixin
  FarmOptions farm;

  @Override
  public Integer call() throws Exception {
    Path home = Path.of(System.getenv().getOrDefault("KFARM_HOME", ".")).toAbsolutePath();
    Path examples = home.resolve("examples");
    if (!Files.isDirectory(examples.resolve("problems"))) {
      throw new IllegalArgumentException("demo: no examples/ under " + home + "; run it from the KernelFarm "
          + "checkout or set KFARM_HOME to it");
    }
    System.out.println("kfarm demo: verifying examples/candidates against examples/problems on a local node");
    VerifyCommand verify = new VerifyCommand();
    verify.problems = examples.resolve("problems");
    verify.candidates = examples.resolve("candidates");
    verify.out = home.resolve("kfarm-results").resolve("demo");
    verify.farm = farm;
    return verify.call();
  }
}
