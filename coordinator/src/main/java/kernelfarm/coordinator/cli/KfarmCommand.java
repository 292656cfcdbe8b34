package kernelfarm.coordinator.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code kfarm}: the command line of KernelFarm. */
@Command(name = "kfarm", mixinStandardHelpOptions = true, version = "kfarm 0.1.0",
    description = "KernelFarm: verify, benchmark and search GPU kernels.",
    subcommands = {DemoCommand.class, CampaignCommand.class, NodeCommand.class, VerifyCommand.class,
        BenchCommand.class})
public final class KfarmCommand implements Runnable {
  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }

  /** Runs the command line; bad input prints the error (naming the option and the fix) and exits 2. */
  public static int execute(String... args) {
    CommandLine cli = new CommandLine(new KfarmCommand());
    cli.setExecutionExceptionHandler((e, commandLine, parsed) -> {
      if (e instanceof IllegalArgumentException || e instanceof IllegalStateException) {
        commandLine.getErr().println("kfarm: " + e.getMessage());
        return 2;
      }
      throw e;
    });
    return cli.execute(args);
  }
}
