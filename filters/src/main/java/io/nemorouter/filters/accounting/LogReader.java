package io.nemorouter.filters.accounting;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/** Reads the request log: forwards from a position (replay into the rollups), and backwards, newest first (the log API). */
final class LogReader {
    private LogReader() {
    }

    /** A line read, with where it is: its file and the offsets of its first byte and of the byte after its newline. */
    interface LineSink {
        /** Returns false to stop. */
        boolean line(String file, long start, long end, JsonNode json);
    }

    /**
     * Every line after {@code from} (all of the log when null), oldest first; unreadable lines (one cut
     * short by a crash) are skipped. Returns the position after the last whole line, or {@code from}
     * when there was nothing.
     */
    static Rollups.Position forward(Path dir, Rollups.Position from, LineSink sink) throws IOException {
        return forward(dir, from, name -> true, sink);
    }

    /** As {@link #forward(Path, Rollups.Position, LineSink)}, over the files {@code files} accepts (by name). */
    static Rollups.Position forward(Path dir, Rollups.Position from, java.util.function.Predicate<String> files, LineSink sink)
            throws IOException {
        Rollups.Position last = from;
        for (Path p : LogFiles.list(dir)) {
            String name = p.getFileName().toString();
            if (!files.test(name)) {
                continue;
            }
            long offset = 0;
            if (from != null) {
                int cmp = compare(name, from.file());
                if (cmp < 0) {
                    continue;
                }
                if (cmp == 0) {
                    offset = from.offset();
                }
            }
            FileChannel opened;
            try {
                opened = FileChannel.open(p, StandardOpenOption.READ);
            } catch (java.nio.file.NoSuchFileException deleted) {
                continue; // removed by the retention since it was listed
            }
            try (FileChannel ch = opened) {
                if (offset > ch.size()) {
                    continue;
                }
                ch.position(offset);
                InputStream in = Channels.newInputStream(ch);
                BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
                long pos = offset;
                long size = ch.size();
                String line;
                while ((line = r.readLine()) != null) {
                    long end = pos + line.getBytes(StandardCharsets.UTF_8).length + 1;
                    if (end > size) {
                        break; // no newline yet: a line being written, or cut short
                    }
                    JsonNode json = parse(line);
                    long start = pos;
                    pos = end;
                    last = new Rollups.Position(name, pos);
                    if (json != null && !sink.line(name, start, end, json)) {
                        return last;
                    }
                }
            }
        }
        return last;
    }

    /** Log files compare by day, then sequence. */
    static int compare(String a, String b) {
        int byDay = LogFiles.dayOf(a).compareTo(LogFiles.dayOf(b));
        return byDay != 0 ? byDay : Integer.compare(LogFiles.seqOf(a), LogFiles.seqOf(b));
    }

    static JsonNode parse(String line) {
        if (line.isEmpty()) {
            return null;
        }
        try {
            return RecordJson.MAPPER.readTree(line);
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Lines newest first, starting before {@code before} (the newest line of the log when null),
     * across files from {@code files} (oldest first). Stops when the sink says so.
     */
    static void backward(Path dir, List<Path> files, Rollups.Position before, LineSink sink) throws IOException {
        for (int i = files.size() - 1; i >= 0; i--) {
            Path p = files.get(i);
            String name = p.getFileName().toString();
            long end;
            if (before != null) {
                int cmp = compare(name, before.file());
                if (cmp > 0) {
                    continue;
                }
                end = cmp == 0 ? before.offset() : Long.MAX_VALUE;
            } else {
                end = Long.MAX_VALUE; // the file's size, read when it is opened
            }
            if (!backwardInFile(p, name, end, sink)) {
                return;
            }
        }
    }

    private static boolean backwardInFile(Path p, String name, long end, LineSink sink) throws IOException {
        FileChannel opened;
        try {
            opened = FileChannel.open(p, StandardOpenOption.READ);
        } catch (java.nio.file.NoSuchFileException deleted) {
            return true; // removed by the retention since it was listed
        }
        try (FileChannel ch = opened) {
            Blocks blocks = new Blocks(ch);
            long term = Math.min(end, ch.size()) - 1;
            while (term >= 0 && blocks.at(term) != '\n') {
                term--; // a last line without its newline is still being written (or was cut by a crash)
            }
            while (term >= 0) {
                long prev = term - 1;
                while (prev >= 0 && blocks.at(prev) != '\n') {
                    prev--;
                }
                long start = prev + 1;
                if (term > start) {
                    byte[] line = new byte[(int) (term - start)];
                    ByteBuffer b = ByteBuffer.wrap(line);
                    while (b.hasRemaining() && ch.read(b, start + b.position()) > 0) {
                        // positional reads until the line is whole
                    }
                    JsonNode json = parse(new String(line, StandardCharsets.UTF_8));
                    if (json != null && !sink.line(name, start, term + 1, json)) {
                        return false;
                    }
                }
                term = prev;
            }
            return true;
        }
    }

    /** Bytes of a file by position, read in 64 KiB blocks going backwards. */
    private static final class Blocks {
        private final FileChannel ch;
        private final ByteBuffer block = ByteBuffer.allocate(1 << 16);
        private long blockStart = -1;
        private int blockLength;

        Blocks(FileChannel ch) {
            this.ch = ch;
        }

        byte at(long pos) throws IOException {
            if (blockStart < 0 || pos < blockStart || pos >= blockStart + blockLength) {
                blockStart = Math.max(0, pos - block.capacity() + 1);
                block.clear().limit((int) (pos + 1 - blockStart));
                while (block.hasRemaining() && ch.read(block, blockStart + block.position()) > 0) {
                    // fill the block
                }
                blockLength = block.position();
            }
            return block.get((int) (pos - blockStart));
        }
    }

}
