/**
 * The county summary's own figure sources (register, credit, trusteeship, assets); the subsidies
 * and risk fund modules register theirs. Each module's figures are computed in SQL as of the month's
 * last day, and reported in the order of their `order`.
 */
import "./figures.js";
import "./credit-figures.js";
import "./income-figures.js";
