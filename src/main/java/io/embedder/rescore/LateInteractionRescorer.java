package io.embedder.rescore;

import io.embedder.core.lateinteraction.ElementType;
import io.embedder.core.lateinteraction.MaxSimScorer;
import io.embedder.core.lateinteraction.PreparedQuery;
import io.embedder.core.lateinteraction.TokenVectors;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.util.BytesRef;
import org.opensearch.search.rescore.RescoreContext;
import org.opensearch.search.rescore.Rescorer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Rescores a shard's top {@code window_size} hits by MaxSim: a hit's new score is
 * {@code query_weight × first-stage score + rescore_weight × MaxSim} (defaults 0 and 1: MaxSim replaces the first
 * stage), the raw sum {@code Σ_i max_j q_i·d_j}. A hit in the window without token vectors, and every hit beyond the
 * window, scores {@code query_weight × first-stage score}. All hits are then sorted by score (ties by document).
 */
public final class LateInteractionRescorer implements Rescorer {

    static final Rescorer INSTANCE = new LateInteractionRescorer();

    private static final Comparator<ScoreDoc> BY_SCORE = Comparator.comparingDouble((ScoreDoc d) -> -d.score).thenComparingInt(d -> d.doc);

    /** What one shard's rescoring needs: the field (null when this index does not map it), its storage and the query. */
    static final class Context extends RescoreContext {
        final String field;
        final ElementType elementType;
        final float[][] vectors;
        final float queryWeight;
        final float rescoreWeight;
        private PreparedQuery prepared;

        Context(int windowSize, String field, ElementType elementType, float[][] vectors, float queryWeight, float rescoreWeight) {
            super(windowSize, INSTANCE);
            this.field = field;
            this.elementType = elementType;
            this.vectors = vectors;
            this.queryWeight = queryWeight;
            this.rescoreWeight = rescoreWeight;
        }

        /** The query prepared once for this shard's rescoring and explanations (a shard's search runs on one thread). */
        PreparedQuery prepared() {
            if (prepared == null) {
                prepared = new PreparedQuery(vectors, elementType);
            }
            return prepared;
        }
    }

    @Override
    public TopDocs rescore(TopDocs topDocs, IndexSearcher searcher, RescoreContext rescoreContext) throws IOException {
        if (topDocs == null || topDocs.scoreDocs.length == 0) {
            return topDocs;
        }
        Context ctx = (Context) rescoreContext;
        ScoreDoc[] hits = topDocs.scoreDocs;
        int window = Math.min(ctx.getWindowSize(), hits.length);
        ScoreDoc[] byDoc = Arrays.copyOf(hits, window);
        Arrays.sort(byDoc, Comparator.comparingInt(d -> d.doc));
        Set<Integer> rescored = new HashSet<>();
        for (ScoreDoc d : byDoc) {
            rescored.add(d.doc);
        }
        ctx.setRescoredDocs(rescored);
        for (int i = window; i < hits.length; i++) {
            hits[i].score *= ctx.queryWeight;
        }
        Reader reader = new Reader(searcher, ctx);
        for (ScoreDoc d : byDoc) {
            float first = d.score * ctx.queryWeight;
            d.score = reader.advance(d.doc) ? first + ctx.rescoreWeight * reader.score() : first;
        }
        ScoreDoc[] sorted = hits.clone();
        Arrays.sort(sorted, BY_SCORE);
        return new TopDocs(topDocs.totalHits, sorted);
    }

    @Override
    public Explanation explain(int topLevelDocId, IndexSearcher searcher, RescoreContext rescoreContext, Explanation sourceExplanation)
        throws IOException {
        Context ctx = (Context) rescoreContext;
        Explanation first = sourceExplanation == null ? Explanation.noMatch("no first-stage explanation")
            : Explanation.match(sourceExplanation.getValue().floatValue() * ctx.queryWeight, "first-stage score × query_weight "
                + ctx.queryWeight, sourceExplanation);
        if (!ctx.isRescored(topLevelDocId)) {
            return first;
        }
        Reader reader = new Reader(searcher, ctx);
        if (!reader.advance(topLevelDocId)) {
            return Explanation.match(first.getValue(), "no token vectors in field [" + ctx.field + "]: first stage only", first);
        }
        float raw = reader.score();
        float[] best = reader.scorer.lastBest();
        List<Explanation> perToken = new ArrayList<>(best.length);
        for (int i = 0; i < best.length; i++) {
            perToken.add(Explanation.match(best[i], "max dot product of query vector [" + i + "]"));
        }
        Explanation maxSim = Explanation.match(raw, "MaxSim, sum over " + best.length + " query vectors of their best dot product with the "
            + "document's " + reader.vectors + " " + ctx.elementType + " vectors in [" + ctx.field + "]", perToken);
        Explanation second = Explanation.match(raw * ctx.rescoreWeight, "MaxSim × rescore_weight " + ctx.rescoreWeight, maxSim);
        return Explanation.match(first.getValue().floatValue() + second.getValue().floatValue(), "late_interaction rescore, sum of:", first, second);
    }

    /** Reads documents' token vectors in increasing doc order, leaf by leaf, with one scorer for the whole window. */
    private static final class Reader {
        private final List<LeafReaderContext> leaves;
        private final Context ctx;
        final MaxSimScorer scorer;
        private int leaf = -1;
        private BinaryDocValues values;
        int vectors;

        Reader(IndexSearcher searcher, Context ctx) {
            this.leaves = searcher.getIndexReader().leaves();
            this.ctx = ctx;
            this.scorer = ctx.field == null ? null : ctx.prepared().scorer();
        }

        boolean advance(int doc) throws IOException {
            if (scorer == null) {
                return false;
            }
            int index = ReaderUtil.subIndex(doc, leaves);
            LeafReaderContext context = leaves.get(index);
            if (index != leaf || values == null || values.docID() > doc - context.docBase) {
                leaf = index;
                values = context.reader().getBinaryDocValues(ctx.field);
            }
            return values != null && values.advanceExact(doc - context.docBase);
        }

        float score() throws IOException {
            BytesRef bytes = values.binaryValue();
            vectors = TokenVectors.count(ctx.elementType, TokenVectors.dims(bytes.bytes, bytes.offset), bytes.length);
            return scorer.score(bytes.bytes, bytes.offset, bytes.length);
        }
    }
}
