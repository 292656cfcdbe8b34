package kernelfarm.coordinator;

import kernelfarm.coordinator.cli.KfarmCommand;

/** The {@code kfarm} launcher's entry point. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    // With 2 cores the common pool gets one thread, and CompletableFuture then starts a new thread for every async
    // step, which the JDK HTTP client takes for every response: measured as the top cost of the LLM loop. Set
    // before CompletableFuture is first loaded.
    String parallelism = "java.util.concurrent.ForkJoinPool.common.parallelism";
    if (System.getProperty(parallelism) == null) {
      System.setProperty(parallelism, Integer.toString(Math.max(2, Runtime.getRuntime().availableProcessors() - 1)));
    }
    // Logging first, on this thread: actors starting in parallel must find it initialised.
    org.slf4j.LoggerFactory.getLogger(Main.class);
    int code;
    try {
      code = KfarmCommand.execute(args);
    } catch (Throwable fatal) {
      // An Error escapes the command line's handlers (a class missing from a trimmed bundle, out of memory): the
      // node's actor system would keep the JVM running, serving nothing, so report it and exit instead.
      System.err.println("kfarm: fatal: " + fatal);
      fatal.printStackTrace();
      code = 70;
    }
    System.exit(code);
  }
}
