"""`field__any=[...]`: membership in a list passed as one array parameter (PostgreSQL).

`field__in` with ten thousand values sends ten thousand parameters, which Django prepares
one by one and the driver splices into the statement; `= ANY(%s)` sends one array. Used by
the batch reads of the verification service, where that preparation cost more than the query.
"""

from django.db.models import CharField, Lookup


@CharField.register_lookup
class AnyOf(Lookup):
    lookup_name = "any"
    # The right-hand side is a list of values, not one value of the field's type.
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]
