package io.embedder.query;

import io.embedder.core.lateinteraction.ElementType;
import io.embedder.core.lateinteraction.MaxSimScorer;
import io.embedder.core.lateinteraction.PreparedQuery;
import io.embedder.core.lateinteraction.TokenVectors;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.ConjunctionUtils;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.ScorerSupplier;
import org.apache.lucene.search.Weight;
import org.apache.lucene.util.BytesRef;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Scores every document that has token vectors in {@code field} (and matches {@code filter}, when given) by MaxSim
 * against the query's vectors. Lucene needs non-negative scores, so the score is
 * {@link MaxSimScorer#nonNegative(float) max(0, (Q + MaxSim) / 2)} × boost, which orders documents as the raw MaxSim
 * does for unit vectors; {@code explain} shows the raw MaxSim. A brute-force scan: meant for small or filtered sets,
 * and as the scoring kernel of the rescorer.
 */
public final class MaxSimQuery extends Query {

    private final String field;
    private final float[][] vectors;
    private final ElementType elementType;
    private final Query filter;

    /**
     * @param vectors the query vectors (not copied: the caller hands them over)
     * @param filter  documents to consider, or null for all with vectors
     */
    public MaxSimQuery(String field, float[][] vectors, ElementType elementType, Query filter) {
        this.field = Objects.requireNonNull(field);
        this.vectors = Objects.requireNonNull(vectors);
        this.elementType = Objects.requireNonNull(elementType);
        this.filter = filter;
    }

    public String field() {
        return field;
    }

    public Query filter() {
        return filter;
    }

    @Override
    public Query rewrite(IndexSearcher searcher) throws IOException {
        if (filter != null) {
            Query rewritten = searcher.rewrite(filter);
            if (rewritten != filter) {
                return new MaxSimQuery(field, vectors, elementType, rewritten);
            }
        }
        return this;
    }

    @Override
    public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost) throws IOException {
        Weight filterWeight = filter == null ? null : searcher.createWeight(filter, ScoreMode.COMPLETE_NO_SCORES, 1f);
        PreparedQuery prepared = new PreparedQuery(vectors, elementType); // once per search: each segment gets its own scorer
        return new Weight(this) {
            @Override
            public ScorerSupplier scorerSupplier(LeafReaderContext context) throws IOException {
                BinaryDocValues values = context.reader().getBinaryDocValues(field);
                if (values == null) {
                    return null;
                }
                DocIdSetIterator iterator = values;
                if (filterWeight != null) {
                    ScorerSupplier filterScorer = filterWeight.scorerSupplier(context);
                    if (filterScorer == null) {
                        return null;
                    }
                    iterator = ConjunctionUtils.intersectIterators(List.of(values, filterScorer.get(Long.MAX_VALUE).iterator()));
                }
                return new DefaultScorerSupplier(new MaxSimDocScorer(values, iterator, prepared.scorer(), boost));
            }

            @Override
            public Explanation explain(LeafReaderContext context, int doc) throws IOException {
                Scorer scorer = scorer(context);
                if (scorer == null || scorer.iterator().advance(doc) != doc) {
                    return Explanation.noMatch("no token vectors in field [" + field + "]" + (filter == null ? "" : " or filter did not match"));
                }
                MaxSimDocScorer s = (MaxSimDocScorer) scorer;
                float raw = s.raw();
                float[] best = s.scorer.lastBest();
                List<Explanation> perToken = new ArrayList<>(best.length);
                for (int i = 0; i < best.length; i++) {
                    perToken.add(Explanation.match(best[i], "max dot product of query vector [" + i + "]"));
                }
                Explanation maxSim = Explanation.match(raw, "MaxSim, sum over " + best.length + " query vectors of their best dot product "
                    + "with the document's " + s.documentVectors() + " " + elementType + " vectors", perToken);
                return Explanation.match(s.scorer.nonNegative(raw) * boost, "late_interaction score max(0, (Q + MaxSim) / 2) × boost, Q = "
                    + best.length + ", boost = " + boost, maxSim);
            }

            @Override
            public boolean isCacheable(LeafReaderContext ctx) {
                return DocValues.isCacheable(ctx, field) && (filterWeight == null || filterWeight.isCacheable(ctx));
            }
        };
    }

    private static final class MaxSimDocScorer extends Scorer {
        private final BinaryDocValues values;
        private final DocIdSetIterator iterator;
        final MaxSimScorer scorer;
        private final float boost;
        private int vectorsInDoc;

        MaxSimDocScorer(BinaryDocValues values, DocIdSetIterator iterator, MaxSimScorer scorer, float boost) {
            this.values = values;
            this.iterator = iterator;
            this.scorer = scorer;
            this.boost = boost;
        }

        float raw() throws IOException {
            BytesRef bytes = values.binaryValue();
            vectorsInDoc = TokenVectors.count(scorer.type(), TokenVectors.dims(bytes.bytes, bytes.offset), bytes.length);
            return scorer.score(bytes.bytes, bytes.offset, bytes.length);
        }

        int documentVectors() {
            return vectorsInDoc;
        }

        @Override
        public int docID() {
            return iterator.docID();
        }

        @Override
        public DocIdSetIterator iterator() {
            return iterator;
        }

        @Override
        public float getMaxScore(int upTo) {
            return Float.MAX_VALUE;
        }

        @Override
        public float score() throws IOException {
            BytesRef bytes = values.binaryValue();
            return scorer.nonNegative(scorer.score(bytes.bytes, bytes.offset, bytes.length)) * boost;
        }
    }

    @Override
    public void visit(QueryVisitor visitor) {
        if (visitor.acceptField(field)) {
            visitor.visitLeaf(this);
        }
    }

    @Override
    public String toString(String defaultField) {
        return "late_interaction(" + field + ", " + vectors.length + "×" + vectors[0].length + " query vectors, " + elementType
            + (filter == null ? "" : ", filter: " + filter) + ")";
    }

    @Override
    public boolean equals(Object other) {
        return sameClassAs(other) && field.equals(((MaxSimQuery) other).field) && elementType == ((MaxSimQuery) other).elementType
            && Arrays.deepEquals(vectors, ((MaxSimQuery) other).vectors) && Objects.equals(filter, ((MaxSimQuery) other).filter);
    }

    @Override
    public int hashCode() {
        return Objects.hash(classHash(), field, elementType, Arrays.deepHashCode(vectors), filter);
    }
}
