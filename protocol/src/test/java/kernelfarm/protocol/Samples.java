package kernelfarm.protocol;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Finds every public record a protocol has, so a serialization test can insist on a sample of each: the records
 * below the sealed roots, and every public record in the package (replies and nested data implement no root).
 */
final class Samples {
  private Samples() {}

  /** Names of the public records of {@code anchor}'s package and below {@code sealedRoots} with no sample. */
  static Set<String> publicRecordsWithout(Collection<?> samples, Class<?> anchor, Class<?>... sealedRoots) {
    Set<Class<?>> sampled = samples.stream().map(Object::getClass).collect(Collectors.toSet());
    Set<Class<?>> records = new HashSet<>(publicRecordsIn(anchor));
    records.addAll(permittedRecords(sealedRoots));
    return records.stream()
        .filter(type -> !sampled.contains(type))
        .map(Class::getName)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  private static Set<Class<?>> permittedRecords(Class<?>... roots) {
    Set<Class<?>> found = new HashSet<>();
    Deque<Class<?>> todo = new ArrayDeque<>(List.of(roots));
    while (!todo.isEmpty()) {
      Class<?> type = todo.pop();
      if (!type.isSealed()) {
        throw new IllegalArgumentException(type.getName() + " is not sealed, so its messages cannot be listed");
      }
      for (Class<?> sub : type.getPermittedSubclasses()) {
        if (sub.isRecord() && isPublic(sub)) {
          found.add(sub);
        } else if (sub.isSealed()) {
          todo.push(sub);
        }
      }
    }
    return found;
  }

  private static Set<Class<?>> publicRecordsIn(Class<?> anchor) {
    String folder = anchor.getPackageName().replace('.', '/');
    Set<Class<?>> found = new HashSet<>();
    for (String className : classNamesIn(anchor, folder)) {
      try {
        Class<?> type = Class.forName(className, false, anchor.getClassLoader());
        if (type.isRecord() && isPublic(type)) {
          found.add(type);
        }
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException("listed but not loadable: " + className, e);
      }
    }
    return found;
  }

  /** Class names directly in the package's folder, from the class folder or the jar that holds the anchor. */
  private static List<String> classNamesIn(Class<?> anchor, String folder) {
    try {
      Path location = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
      if (Files.isDirectory(location)) {
        try (Stream<Path> files = Files.list(location.resolve(folder))) {
          return files.map(f -> f.getFileName().toString())
              .filter(n -> n.endsWith(".class"))
              .map(n -> anchor.getPackageName() + "." + n.substring(0, n.length() - ".class".length()))
              .toList();
        }
      }
      try (JarFile jar = new JarFile(location.toFile())) {
        return jar.stream()
            .map(e -> e.getName())
            .filter(n -> n.startsWith(folder + "/") && n.endsWith(".class"))
            .filter(n -> n.indexOf('/', folder.length() + 1) < 0)
            .map(n -> n.substring(0, n.length() - ".class".length()).replace('/', '.'))
            .toList();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Public, and so are all its enclosing classes: a public record inside a private class is no API. */
  private static boolean isPublic(Class<?> type) {
    for (Class<?> t = type; t != null; t = t.getEnclosingClass()) {
      if (!Modifier.isPublic(t.getModifiers())) {
        return false;
      }
    }
    return true;
  }
}
