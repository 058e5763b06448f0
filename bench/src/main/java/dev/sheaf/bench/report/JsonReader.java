package dev.sheaf.bench.report;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import com.google.gson.Strictness;

/**
 * Reads the JSON of the committed results files (JMH's output and ResultsWriter's) into maps,
 * lists, strings, doubles and booleans, through Gson in strict mode. Not on any hot path: it reads
 * committed files for the README's generated table.
 */
public final class JsonReader {
    private static final Gson GSON = new GsonBuilder().setStrictness(Strictness.STRICT).create();

    private JsonReader() {
    }

    /**
     * Parses one JSON value.
     *
     * @param json the whole document
     * @return a {@code Map<String, Object>} (key order kept), {@code List<Object>}, {@code String},
     *         {@code Double}, {@code Boolean} or null
     * @throws IllegalArgumentException the text is not one well-formed JSON value
     */
    public static Object read(String json) {
        try {
            return GSON.fromJson(json, Object.class);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException("not one well-formed JSON value: " + e.getMessage(), e);
        }
    }
}
