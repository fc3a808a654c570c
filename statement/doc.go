// Package statement computes a user's statements from their transactions:
// a read projection that stores nothing and changes no state, and renders a
// statement as the JSON the API answers with or as a PDF.
//
// A statement covers a period [periodStart, periodEnd) in epoch seconds, the
// platform's unit for statements. Monthly statements cover calendar months
// in UTC; a month's statement exists once the server's clock has passed the
// month's end, for every month from the one the user was created in. A
// custom statement covers any range that has ended. A statement's ID names
// its user and period (stmt_<user>_m202401, stmt_<user>_c<start>_<end>), so
// it can be computed again from its ID alone.
//
// Balances on a statement are what is owed on the credit line the deposits
// back, as the balance object's balanceDue: a purchase adds when it posts
// (clears), a refund subtracts when it is made. So
//
//	closingBalance = openingBalance + totalSpent - totalRefunds + totalFees
//
// Each transaction that moved money is one line, dated by when it posted,
// at its amount as the ledger holds it now: a posted purchase later
// reversed in part shows what remains; one reversed in full shows what its
// refunds had already given back (usually 0). Authorizations still open at
// the period's end are not lines; they are the statement's pendingCharges,
// and availableCredit = creditLimit - closingBalance - pendingCharges, with
// creditLimit the deposits made before the period's end less the
// withdrawals made before it. A withdrawal is not a line: it takes funds
// out of the deposits and leaves what is owed as it was; a statement lists
// the period's withdrawals and their total apart (totalWithdrawals). A won
// dispute's credit is a refund, and is a line like any refund.
package statement
